/*
 * SafeSpace PDQ for the browser: the same 256-bit hash and quality as the server
 * (safespace.signals, exact mode) for the same decoded pixels, bit for bit.
 *
 * Written from the PDQ algorithm description (ThreatExchange pdq/README.md, hashing.pdf):
 *   1. the server's PDQ grid: when a side exceeds 512 pixels, rows floor(i*H/512) and
 *      columns floor(j*W/512), i, j = 0..511 (nearest neighbour); smaller images as they are;
 *   2. luma 0.299 R + 0.587 G + 0.114 B, computed in double and stored as float32 (this is
 *      what the server's pdqhash binding does before calling the reference C++);
 *   3. Jarosz tent filter: two passes of a box filter along rows then columns, window
 *      ceil(size / 128), then decimation to 64x64 at the cell centres (skipped for a 64x64
 *      input, as in the reference);
 *   4. quality: the sum of quantised gradients of the 64x64 picture / 90, at most 100;
 *   5. 16x16 of the 64x64 DCT (frequencies 1..16), each coefficient compared with the
 *      median of the 256; bit k = 16*i + j; hex is word 15 first, 4 digits a word.
 *
 * The reference keeps every buffer and the DCT matrix in float32 and sums in order; each
 * arithmetic step here is rounded to float32 (Math.fround or a Float32Array store), which
 * gives the same value because float32 +, -, *, / are exact when done in double and rounded.
 *
 * Works in a page and in a Web Worker (no DOM use): exposes globalThis.SafeSpacePDQ.
 */
(function (root) {
  "use strict";

  var GRID = 512; // the server's PDQ grid (signals/decode.py PDQ_GRID)
  var MIN_DIM = 5; // smaller images hash to all zeros, quality 0
  var f32 = Math.fround;
  var dct = null; // 16x64 float32, row i = frequency i + 1

  function dctMatrix() {
    if (dct !== null) return dct;
    var m = new Float32Array(16 * 64);
    var scale = f32(Math.sqrt(2 / 64)); // the reference keeps the scale factor as a float
    var step = Math.PI / 2 / 64;
    for (var i = 0; i < 16; i++) {
      for (var j = 0; j < 64; j++) {
        m[i * 64 + j] = scale * Math.cos(step * (i + 1) * (2 * j + 1));
      }
    }
    dct = m;
    return m;
  }

  /** The source index of each of the 512 grid positions along a side of `size` pixels. */
  function gridIndices(size) {
    var idx = new Int32Array(GRID);
    for (var i = 0; i < GRID; i++) idx[i] = Math.floor((i * size) / GRID);
    return idx;
  }

  /**
   * Luma (float32) of the PDQ grid of interleaved 8-bit pixels (RGBA when channels is 4,
   * RGB when 3), sampled to 512x512 when either side exceeds 512. Returns
   * {luma, rows, cols}.
   */
  function lumaGrid(pixels, width, height, channels) {
    channels = channels || 4;
    if (pixels.length < width * height * channels) {
      throw new RangeError("pixel buffer is smaller than width x height x channels");
    }
    var big = width > GRID || height > GRID;
    var rows = big ? GRID : height;
    var cols = big ? GRID : width;
    var rowIdx = big ? gridIndices(height) : null;
    var colIdx = big ? gridIndices(width) : null;
    var luma = new Float32Array(rows * cols);
    var rowBytes = width * channels;
    for (var i = 0; i < rows; i++) {
      var base = (big ? rowIdx[i] : i) * rowBytes;
      var out = i * cols;
      for (var j = 0; j < cols; j++) {
        var p = base + (big ? colIdx[j] : j) * channels;
        luma[out + j] = pixels[p] * 0.299 + pixels[p + 1] * 0.587 + pixels[p + 2] * 0.114;
      }
    }
    return { luma: luma, rows: rows, cols: cols };
  }

  function windowSize(oldDim) {
    return Math.floor((oldDim + 2 * 64 - 1) / (2 * 64));
  }

  // One box-filter pass over a vector of `n` values `stride` apart. The window is centred
  // (half = floor((w + 2) / 2)) and shrinks at both ends, dividing by the pixels it covers.
  function box1D(src, dst, start, n, stride, w) {
    var half = Math.floor((w + 2) / 2);
    var sum = 0;
    var count = 0;
    var ri = start;
    var li = start;
    var oi = start;
    var k;
    for (k = 0; k < half - 1; k++) {
      sum = f32(sum + src[ri]);
      count++;
      ri += stride;
    }
    for (k = 0; k < w - half + 1; k++) {
      sum = f32(sum + src[ri]);
      count++;
      dst[oi] = sum / count;
      ri += stride;
      oi += stride;
    }
    for (k = 0; k < n - w; k++) {
      sum = f32(sum + src[ri]);
      sum = f32(sum - src[li]);
      dst[oi] = sum / count;
      li += stride;
      ri += stride;
      oi += stride;
    }
    for (k = 0; k < half - 1; k++) {
      sum = f32(sum - src[li]);
      count--;
      dst[oi] = sum / count;
      li += stride;
      oi += stride;
    }
  }

  /** Tent-filter `a` in place (with `b` as scratch) and decimate to a 64x64 Float32Array. */
  function downsample64(a, b, rows, cols) {
    var out = new Float32Array(64 * 64);
    var i, j;
    if (rows === 64 && cols === 64) {
      out.set(a);
      return out;
    }
    var wRows = windowSize(cols); // along each row
    var wCols = windowSize(rows); // along each column
    for (var pass = 0; pass < 2; pass++) {
      for (i = 0; i < rows; i++) box1D(a, b, i * cols, cols, 1, wRows);
      for (j = 0; j < cols; j++) box1D(b, a, j, rows, cols, wCols);
    }
    for (i = 0; i < 64; i++) {
      var ini = Math.floor(((i + 0.5) * rows) / 64);
      for (j = 0; j < 64; j++) {
        var inj = Math.floor(((j + 0.5) * cols) / 64);
        out[i * 64 + j] = a[ini * cols + inj];
      }
    }
    return out;
  }

  function qualityOf(a) {
    var sum = 0;
    var i, j, d;
    for (i = 0; i < 63; i++) {
      for (j = 0; j < 64; j++) {
        d = Math.trunc(f32(f32(f32(a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100) / 255));
        sum += Math.abs(d);
      }
    }
    for (i = 0; i < 64; i++) {
      for (j = 0; j < 63; j++) {
        d = Math.trunc(f32(f32(f32(a[i * 64 + j] - a[i * 64 + j + 1]) * 100) / 255));
        sum += Math.abs(d);
      }
    }
    return Math.min(100, Math.floor(sum / 90));
  }

  /** The 16x16 DCT block D A D^T of a 64x64 picture, summed in the reference's order. */
  function dct16(a) {
    var d = dctMatrix();
    var t = new Float32Array(16 * 64);
    var out = new Float32Array(16 * 16);
    var i, j, k, s;
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 64; j++) {
        s = 0;
        for (k = 0; k < 64; k++) s = f32(s + f32(d[i * 64 + k] * a[k * 64 + j]));
        t[i * 64 + j] = s;
      }
    }
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 16; j++) {
        s = 0;
        for (k = 0; k < 64; k++) s = f32(s + f32(t[i * 64 + k] * d[j * 64 + k]));
        out[i * 16 + j] = s;
      }
    }
    return out;
  }

  function toHex(block) {
    var sorted = Float32Array.from(block).sort();
    var median = sorted[127]; // the 128th smallest, as the reference's Torben median
    var words = new Uint16Array(16);
    for (var k = 0; k < 256; k++) {
      if (block[k] > median) words[k >> 4] |= 1 << (k & 15);
    }
    var hex = "";
    for (var w = 15; w >= 0; w--) hex += (words[w] + 0x10000).toString(16).slice(1);
    return hex;
  }

  /**
   * PDQ of a float32 luma picture hashed as given (no grid sampling). `luma` is used as a
   * work buffer and overwritten. Returns {hash, quality}.
   */
  function pdqFromLuma(luma, rows, cols) {
    if (rows < MIN_DIM || cols < MIN_DIM) {
      return { hash: "0".repeat(64), quality: 0 };
    }
    var a = luma instanceof Float32Array ? luma : Float32Array.from(luma);
    var small = downsample64(a, new Float32Array(rows * cols), rows, cols);
    return { hash: toHex(dct16(small)), quality: qualityOf(small) };
  }

  /**
   * PDQ of interleaved 8-bit pixels exactly as the server computes it from decoded pixels:
   * the 512 grid, luma, then PDQ. `channels` is 4 (RGBA, e.g. ImageData.data; alpha is
   * ignored) or 3 (RGB). Returns {hash, quality}.
   */
  function pdqFromPixels(pixels, width, height, channels) {
    var g = lumaGrid(pixels, width, height, channels || 4);
    return pdqFromLuma(g.luma, g.rows, g.cols);
  }

  /** Bits that differ between two hex hashes of equal length. */
  function hamming(a, b) {
    if (a.length !== b.length) throw new RangeError("hashes differ in length");
    var n = 0;
    for (var i = 0; i < a.length; i += 4) {
      var x = parseInt(a.slice(i, i + 4), 16) ^ parseInt(b.slice(i, i + 4), 16);
      while (x) {
        x &= x - 1;
        n++;
      }
    }
    return n;
  }

  var api = {
    GRID_SIZE: GRID,
    pdqFromPixels: pdqFromPixels,
    pdqFromLuma: pdqFromLuma,
    lumaGrid: lumaGrid,
    gridIndices: gridIndices,
    hamming: hamming,
  };
  root.SafeSpacePDQ = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
