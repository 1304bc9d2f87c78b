% the network's output size does not match the 10 classes: refused before training
imds = imageDatastore(fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset'), ...
    'IncludeSubfolders',true,'LabelSource','foldernames');
layers = [imageInputLayer([28 28 1]) fullyConnectedLayer(5) softmaxLayer classificationLayer];
net = trainNetwork(imds, layers, trainingOptions('sgdm'));
