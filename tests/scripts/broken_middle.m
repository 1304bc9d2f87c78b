accuracy = 0.5
if accuracy > 0.9
    disp('good')
end
