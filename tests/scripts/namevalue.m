% R2021a Name=Value arguments, and "string" option values.
imds = imageDatastore(fullfile(matlabroot,"toolbox","nnet","nndemos","nndatasets","DigitDataset"), ...
    IncludeSubfolders=true, LabelSource="foldernames");
[imdsTrain, imdsTest] = splitEachLabel(imds, 20, "randomized");
layers = [
    imageInputLayer([28 28 1], Normalization="none")
    fullyConnectedLayer(10)
    softmaxLayer
    classificationLayer];
options = trainingOptions("adam", MaxEpochs=2, MiniBatchSize=40, Verbose=false, ...
    Shuffle="every-epoch");
net = trainNetwork(imdsTrain, layers, options);
[YPred, scores] = classify(net, imdsTest);
size(scores)
accuracy = sum(YPred == imdsTest.Labels) / numel(imdsTest.Labels);
fprintf("accuracy above chance: %d\n", accuracy > 0.1);
