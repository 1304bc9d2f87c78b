imds = imageDatastore(fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset'), ...
    'IncludeSubfolders',true,'LabelSource','foldernames');
layers = [imageInputLayer([28 28 1]) fullyConnectedLayer(10) softmaxLayer classificationLayer];
options = trainingOptions('sgdm','MaxEpochs',1);
disp('the arguments are checked before training')
net = trainNetwork(layers, imds, options);
