imageAugmenter = imageDataAugmenter('RandRotation',[-20,20]);
