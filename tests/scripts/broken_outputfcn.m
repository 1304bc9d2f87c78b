options = trainingOptions('sgdm','MaxEpochs',4,'OutputFcn',3);
