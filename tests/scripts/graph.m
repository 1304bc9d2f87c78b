% A layerGraph with a shortcut (connectLayers), trained and displayed
layers = [
    imageInputLayer([28 28 1],'Name','input')
    convolution2dLayer(3,8,'Padding','same','Name','conv1')
    batchNormalizationLayer('Name','bn1')
    reluLayer('Name','relu1')
    convolution2dLayer(3,8,'Padding','same','Name','conv2')
    batchNormalizationLayer('Name','bn2')
    additionLayer(2,'Name','add')
    reluLayer('Name','relu2')
    fullyConnectedLayer(10,'Name','fc')
    softmaxLayer('Name','softmax')
    classificationLayer('Name','classoutput')];
lgraph = layerGraph(layers);
lgraph = connectLayers(lgraph,'relu1','add/in2')
imds = imageDatastore(fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset'), ...
    'IncludeSubfolders',true,'LabelSource','foldernames');
options = trainingOptions('sgdm','MaxEpochs',2,'MiniBatchSize',100,'Verbose',false);
net = trainNetwork(imds, lgraph, options);
YPred = classify(net, imds);
fprintf('%d predictions\n', numel(YPred));
