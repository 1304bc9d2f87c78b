% MATLAB's display of values (format short, format loose) and its text functions.
x = 5
y = 0.25
z = -12.5
big = 123456.789
v = [1 2 3]
m = [1 2; 3 4]
r = 1:2:9
c = 'a char vector'
s = "a string"
b = true
t = 3 > [1 5]
e = []
k = {'one', 'two'}
n = numel(k);
fprintf('%d items, %s and %s\n', n, k{1}, k{2});
fprintf('%5.2f|%-4d|%s\n', pi, 7, 'x');
fprintf('%d %d\n', [1 2 3 4]);
msg = sprintf('%.3f', 2/3)
disp(42)
disp('plain text')
num2str(pi)
q = v(end) + m(2,1) * 2 - x^2
w = sum(v .* v) / numel(v)
