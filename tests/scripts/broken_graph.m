layers = [imageInputLayer([28 28 1],'Name','input') reluLayer('Name','relu') ...
    additionLayer(2,'Name','add') fullyConnectedLayer(10) softmaxLayer classificationLayer];
lgraph = layerGraph(layers);
lgraph = connectLayers(lgraph,'relu','ad/in2');
