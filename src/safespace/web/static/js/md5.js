/*
 * SafeSpace MD5 for the browser (RFC 1321), incremental, so a large video is hashed in
 * slices of the File without ever holding it whole in memory. Web Crypto has no MD5 and no
 * streaming digest, hence this small implementation.
 *
 * Works in a page and in a Web Worker: exposes globalThis.SafeSpaceMD5.
 */
(function (root) {
  "use strict";

  // Per-step left rotations, four per round, and the sine-derived constants of the RFC.
  var SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var K = new Int32Array(64);
  for (var t = 0; t < 64; t++) K[t] = Math.floor(Math.abs(Math.sin(t + 1)) * 4294967296) | 0;

  var DEFAULT_CHUNK = 4 * 1024 * 1024;

  /** Incremental MD5: update(bytes) any number of times, then hex() once. */
  function MD5() {
    this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.pending = new Uint8Array(64);
    this.pendingLength = 0;
    this.length = 0; // bytes so far (a Number: exact up to 2^53)
    this.words = new Int32Array(16);
    this.done = false;
  }

  MD5.prototype.block = function (bytes, offset) {
    var x = this.words;
    for (var w = 0; w < 16; w++, offset += 4) {
      x[w] =
        bytes[offset] |
        (bytes[offset + 1] << 8) |
        (bytes[offset + 2] << 16) |
        (bytes[offset + 3] << 24);
    }
    var s = this.state;
    var a = s[0];
    var b = s[1];
    var c = s[2];
    var d = s[3];
    for (var i = 0; i < 64; i++) {
      var f;
      var g;
      var round = i >> 4;
      if (round === 0) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (round === 1) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (round === 2) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      var sum = (a + f + K[i] + x[g]) | 0;
      var r = SHIFTS[(round << 2) | (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << r) | (sum >>> (32 - r)))) | 0;
    }
    s[0] = (s[0] + a) | 0;
    s[1] = (s[1] + b) | 0;
    s[2] = (s[2] + c) | 0;
    s[3] = (s[3] + d) | 0;
  };

  /** Feed bytes (Uint8Array or ArrayBuffer). Returns this. */
  MD5.prototype.update = function (data) {
    if (this.done) throw new Error("MD5 already finished");
    var bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    var n = bytes.length;
    var i = 0;
    this.length += n;
    if (this.pendingLength > 0) {
      var take = Math.min(64 - this.pendingLength, n);
      this.pending.set(bytes.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      i = take;
      if (this.pendingLength < 64) return this;
      this.block(this.pending, 0);
      this.pendingLength = 0;
    }
    for (; i + 64 <= n; i += 64) this.block(bytes, i);
    if (i < n) {
      this.pending.set(bytes.subarray(i), 0);
      this.pendingLength = n - i;
    }
    return this;
  };

  /** Finish and return the digest as 32 lowercase hex digits. */
  MD5.prototype.hex = function () {
    if (this.done) throw new Error("MD5 already finished");
    var bits = this.length * 8;
    var tail = new Uint8Array(this.pendingLength < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.pendingLength));
    tail[this.pendingLength] = 0x80;
    var lo = (this.length % 0x20000000) * 8; // low 32 bits of the bit length
    var hi = Math.floor(bits / 4294967296);
    for (var j = 0; j < 4; j++) {
      tail[tail.length - 8 + j] = (lo >>> (8 * j)) & 0xff;
      tail[tail.length - 4 + j] = (hi >>> (8 * j)) & 0xff;
    }
    for (var o = 0; o < tail.length; o += 64) this.block(tail, o);
    this.done = true;
    var hex = "";
    for (var w = 0; w < 4; w++) {
      for (var k = 0; k < 4; k++) {
        hex += ((this.state[w] >>> (8 * k)) & 0xff).toString(16).padStart(2, "0");
      }
    }
    return hex;
  };

  /** MD5 hex of bytes already in memory. */
  function md5Hex(data) {
    return new MD5().update(data).hex();
  }

  /**
   * MD5 hex of a Blob or File, read in slices of `chunkSize` bytes (default 4 MiB), so
   * memory stays at one slice whatever the file size. `onProgress(doneBytes, totalBytes)`
   * is called after each slice.
   */
  async function md5Blob(blob, options) {
    var chunk = (options && options.chunkSize) || DEFAULT_CHUNK;
    var onProgress = options && options.onProgress;
    var h = new MD5();
    for (var start = 0; start < blob.size; start += chunk) {
      var end = Math.min(start + chunk, blob.size);
      h.update(new Uint8Array(await blob.slice(start, end).arrayBuffer()));
      if (onProgress) onProgress(end, blob.size);
    }
    return h.hex();
  }

  var api = { MD5: MD5, md5Hex: md5Hex, md5Blob: md5Blob, DEFAULT_CHUNK: DEFAULT_CHUNK };
  root.SafeSpaceMD5 = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
