disp('never printed')
layers = [
    imageInputLayer([28 28 1])
    convolution2dLayer(3,8,'Padding','sme')
    reluLayer];
