% MathWorks' digit example's flow on a small DigitDataset (30 digits per class), with
% MATLAB's verbose table and validation.
digitDatasetPath = fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset');
imds = imageDatastore(digitDatasetPath,'IncludeSubfolders',true,'LabelSource','foldernames');
numel(imds.Files)
labelCount = countEachLabel(imds);
labelCount.Count(1:3)
img = readimage(imds,1);
[h, w] = size(img)
class(img)
[imdsTrain,imdsValidation] = splitEachLabel(imds,0.7,'randomized');
n = [numel(imdsTrain.Files) numel(imdsValidation.Files)]
layers = [imageInputLayer([28 28 1]) convolution2dLayer(3,4,'Padding','same') ...
    batchNormalizationLayer reluLayer ...
    maxPooling2dLayer(2,'Stride',2) fullyConnectedLayer(10) softmaxLayer classificationLayer];
options = trainingOptions('sgdm','MaxEpochs',2,'MiniBatchSize',50, ...
    'ValidationData',imdsValidation,'ValidationFrequency',2,'VerboseFrequency',2);
net = trainNetwork(imdsTrain,layers,options);
YPred = classify(net,imdsValidation);
ok = mean(YPred == imdsValidation.Labels) > 0.2
fprintf('%d of %d validation images\n', numel(YPred), numel(imdsValidation.Labels));
