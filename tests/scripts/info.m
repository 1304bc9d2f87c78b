% [net, info] = trainNetwork(...): the figures of every iteration, with validation patience
imds = imageDatastore(fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset'), ...
    'IncludeSubfolders',true,'LabelSource','foldernames');
[imdsTrain, imdsValidation] = splitEachLabel(imds, 0.8);
layers = [
    imageInputLayer([28 28 1])
    convolution2dLayer(3,4)
    batchNormalizationLayer
    reluLayer
    fullyConnectedLayer(10)
    softmaxLayer
    classificationLayer];
options = trainingOptions('sgdm', 'MaxEpochs', 3, 'MiniBatchSize', 60, 'Verbose', false, ...
    'ValidationData', imdsValidation, 'ValidationFrequency', 4);
[net, info] = trainNetwork(imdsTrain, layers, options);
iterations = numel(info.TrainingLoss)
validations = sum(~isnan(info.ValidationLoss))
fprintf('the loss fell: %d\n', info.TrainingLoss(end) < info.TrainingLoss(1));
fprintf('rate: %g\n', info.BaseLearnRate(1));
