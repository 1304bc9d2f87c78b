% save('model.mcnn','net') and net = load('model.mcnn'): the loaded network classifies as the
% trained one
imds = imageDatastore(fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset'), ...
    'IncludeSubfolders',true,'LabelSource','foldernames');
layers = [imageInputLayer([28 28 1]) convolution2dLayer(3,4,'Padding','same','Name','conv') ...
    batchNormalizationLayer reluLayer fullyConnectedLayer(10) softmaxLayer classificationLayer];
net = trainNetwork(imds, layers, trainingOptions('sgdm','MaxEpochs',1,'Verbose',false));
save('digits.mcnn','net')
loaded = load('digits.mcnn');
agreement = mean(classify(net, imds) == classify(loaded, imds))
