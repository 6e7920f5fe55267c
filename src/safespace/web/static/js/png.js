/*
 * SafeSpace PNG decoder: PNG bytes in, the PDQ grid's RGB pixels out, exactly as the server
 * (Pillow's PNG reader, then convert("RGB")) decodes them. The canvas cannot do this for
 * transparent pictures: it premultiplies alpha, losing the colour stored under clear pixels,
 * which is what the server hashes (alpha is dropped, not composited).
 *
 * No DOM; runs in a worker. Needs DecompressionStream("deflate") for the zlib data, and
 * SafeSpacePDQ (pdq.js) for the grid size and indices. Decoding streams: only two scanlines
 * and the 512x512 grid are in memory, whatever the picture's size.
 *
 *   const g = await SafeSpacePNG.decodeGrid(bytes, {maxPixels});
 *   SafeSpacePDQ.pdqFromPixels(g.pixels, g.gw, g.gh, 3);
 */
(function (root) {
  "use strict";

  var SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  var MAX_ROW_BYTES = 1 << 26; // 64 MiB: one scanline; wider pictures are refused
  // Colour type -> samples per pixel, and the bit depths PNG allows for it.
  var CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  var DEPTHS = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  // Adam7 passes: [first column, first row, column step, row step].
  var ADAM7 = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  var NOT_INTERLACED = [[0, 0, 1, 1]];

  /** A file this decoder refuses; `tooLarge` marks the pixel and scanline limits. */
  function PNGError(message, tooLarge) {
    var e = new Error(message);
    e.name = "PNGError";
    e.tooLarge = !!tooLarge;
    return e;
  }

  var CRC_TABLE = null;

  function crc32(b, start, end) {
    if (CRC_TABLE === null) {
      CRC_TABLE = new Int32Array(256);
      for (var n = 0; n < 256; n++) {
        var c = n;
        for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        CRC_TABLE[n] = c;
      }
    }
    var crc = -1;
    for (var i = start; i < end; i++) crc = CRC_TABLE[(crc ^ b[i]) & 0xff] ^ (crc >>> 8);
    return (crc ^ -1) >>> 0;
  }

  function u32(b, o) {
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  function isPNG(b) {
    if (b.length < 8) return false;
    for (var i = 0; i < 8; i++) if (b[i] !== SIGNATURE[i]) return false;
    return true;
  }

  /**
   * Read the chunks up to the image data, as Pillow does: CRCs are checked on every chunk
   * before the first IDAT (a bad one refuses the file), unknown chunks are skipped, the image
   * data is the run of consecutive IDAT chunks (their CRCs are not checked, as in Pillow) and
   * nothing after it is read. Returns the header, palette, whether there is transparency, and
   * the IDAT payloads.
   */
  function parse(b) {
    if (!isPNG(b)) throw PNGError("not a PNG file");
    var pos = 8;
    var head = null;
    var palette = new Uint8Array(0);
    var trns = false;
    var idat = [];
    while (pos + 8 <= b.length) {
      var len = u32(b, pos);
      var type = String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]);
      var data = pos + 8;
      if (head === null && type !== "IHDR") throw PNGError("the first chunk is not IHDR");
      if (type === "IDAT") {
        if (data + len > b.length) len = b.length - data; // a cut-off file: inflate says so
        idat.push(b.subarray(data, data + len));
        pos = data + len + 4;
        continue;
      }
      if (idat.length) break; // the image data has ended
      if (type === "IEND") break;
      if (len > b.length || data + len + 4 > b.length) throw PNGError("truncated " + type);
      if (crc32(b, pos + 4, data + len) !== u32(b, data + len)) {
        throw PNGError("bad CRC in chunk " + JSON.stringify(type));
      }
      if (type === "IHDR") {
        if (head !== null) throw PNGError("two IHDR chunks");
        if (len < 13) throw PNGError("IHDR is too short");
        head = {
          width: u32(b, data),
          height: u32(b, data + 4),
          bitDepth: b[data + 8],
          colorType: b[data + 9],
          filter: b[data + 11],
          interlace: b[data + 12],
        };
        checkHeader(head);
      } else if (type === "PLTE") {
        // Whole entries only; indices past the end decode as black, as in Pillow.
        palette = b.slice(data, data + Math.min(256, Math.floor(len / 3)) * 3);
      } else if (type === "tRNS") {
        trns = true;
      }
      pos = data + len + 4;
    }
    if (head === null) throw PNGError("no IHDR chunk");
    if (!idat.length) throw PNGError("no image data (IDAT)");
    head.palette = palette;
    head.alpha = head.colorType === 4 || head.colorType === 6 || trns;
    head.idat = idat;
    return head;
  }

  function checkHeader(h) {
    if (h.width === 0 || h.height === 0 || h.width > 0x7fffffff || h.height > 0x7fffffff) {
      throw PNGError("bad image size " + h.width + "x" + h.height);
    }
    var depths = DEPTHS[h.colorType];
    if (!depths) throw PNGError("unknown colour type " + h.colorType);
    if (depths.indexOf(h.bitDepth) < 0) {
      throw PNGError("bit depth " + h.bitDepth + " is not allowed for colour type " + h.colorType);
    }
    if (h.filter !== 0) throw PNGError("unknown filter method " + h.filter);
    if (h.interlace > 1) throw PNGError("unknown interlace method " + h.interlace);
  }

  /**
   * The RGB value of sample `k` of an unfiltered row, as Pillow's convert("RGB") gives it:
   * alpha dropped; grey of 1, 2 and 4 bits scaled to 0-255; 16-bit colour and grey+alpha
   * keep the high byte; 16-bit grey (Pillow mode I;16) is clipped to 255; palette indices
   * past the palette are black.
   */
  function makeReader(h) {
    var bd = h.bitDepth;
    var pal = h.palette;
    var nPal = pal.length / 3;
    var scale = bd === 1 ? 255 : bd === 2 ? 85 : bd === 4 ? 17 : 1;
    function packed(row, k) {
      var bit = k * bd;
      return (row[bit >> 3] >> (8 - bd - (bit & 7))) & ((1 << bd) - 1);
    }
    switch (h.colorType) {
      case 0:
        if (bd === 16) {
          return function (row, k, out, o) {
            var v = row[2 * k] ? 255 : row[2 * k + 1];
            out[o] = out[o + 1] = out[o + 2] = v;
          };
        }
        return function (row, k, out, o) {
          out[o] = out[o + 1] = out[o + 2] = (bd === 8 ? row[k] : packed(row, k)) * scale;
        };
      case 3:
        return function (row, k, out, o) {
          var i = bd === 8 ? row[k] : packed(row, k);
          if (i < nPal) {
            out[o] = pal[3 * i];
            out[o + 1] = pal[3 * i + 1];
            out[o + 2] = pal[3 * i + 2];
          } else {
            out[o] = out[o + 1] = out[o + 2] = 0;
          }
        };
      case 4:
        return function (row, k, out, o) {
          out[o] = out[o + 1] = out[o + 2] = row[(bd === 16 ? 4 : 2) * k];
        };
      default: {
        var step = (bd / 8) * CHANNELS[h.colorType];
        var wide = bd === 16 ? 2 : 1;
        return function (row, k, out, o) {
          var p = step * k;
          out[o] = row[p];
          out[o + 1] = row[p + wide];
          out[o + 2] = row[p + 2 * wide];
        };
      }
    }
  }

  /** Undo one scanline's filter in place (`prev` is the unfiltered row above, or zeros). */
  function unfilter(type, cur, prev, bpp) {
    var n = cur.length;
    var i;
    switch (type) {
      case 0:
        return;
      case 1:
        for (i = bpp; i < n; i++) cur[i] = (cur[i] + cur[i - bpp]) & 255;
        return;
      case 2:
        for (i = 0; i < n; i++) cur[i] = (cur[i] + prev[i]) & 255;
        return;
      case 3:
        for (i = 0; i < bpp; i++) cur[i] = (cur[i] + (prev[i] >> 1)) & 255;
        for (; i < n; i++) cur[i] = (cur[i] + ((cur[i - bpp] + prev[i]) >> 1)) & 255;
        return;
      case 4:
        for (i = 0; i < bpp; i++) cur[i] = (cur[i] + prev[i]) & 255;
        for (; i < n; i++) {
          var a = cur[i - bpp];
          var b = prev[i];
          var c = prev[i - bpp];
          var pa = b - c;
          var pb = a - c;
          var pc = pa + pb;
          if (pa < 0) pa = -pa;
          if (pb < 0) pb = -pb;
          if (pc < 0) pc = -pc;
          cur[i] = (cur[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
        }
        return;
      default:
        throw PNGError("unknown scanline filter " + type);
    }
  }

  /** Where the grid takes its pixels: all of a small picture, else floor(i*size/512). */
  function gridPlan(width, height) {
    var P = root.SafeSpacePDQ;
    var G = P.GRID_SIZE;
    var big = width > G || height > G;
    var gw = big ? G : width;
    var gh = big ? G : height;
    var rows = big ? P.gridIndices(height) : null;
    var cols = big ? P.gridIndices(width) : null;
    var rowIdx = new Int32Array(gh);
    var colIdx = new Int32Array(gw);
    for (var i = 0; i < gh; i++) rowIdx[i] = big ? rows[i] : i;
    for (var j = 0; j < gw; j++) colIdx[j] = big ? cols[j] : j;
    return { gw: gw, gh: gh, rowIdx: rowIdx, colIdx: colIdx };
  }

  /**
   * Decode PNG bytes (Uint8Array) to the PDQ grid: {pixels (RGB), channels: 3, width, height,
   * gw, gh, alpha, interlaced}. `alpha` says the file has an alpha channel or tRNS; the
   * pixels are exact either way. Options: maxPixels (width*height refused above it).
   * Rejects with a PNGError for damaged files. Rows that a complete zlib stream ends before
   * stay as zero samples (Pillow's behaviour); a cut-off zlib stream is an error.
   */
  async function decodeGrid(bytes, options) {
    var h = parse(bytes);
    var maxPixels = (options && options.maxPixels) || Infinity;
    if (h.width * h.height > maxPixels) {
      throw PNGError(
        "image is " + h.width + "x" + h.height + " pixels, over the limit of " + maxPixels,
        true
      );
    }
    var spp = CHANNELS[h.colorType];
    var bitsPerPixel = spp * h.bitDepth;
    var bpp = Math.max(1, bitsPerPixel >> 3);
    if (Math.ceil((h.width * bitsPerPixel) / 8) > MAX_ROW_BYTES) {
      throw PNGError("image is " + h.width + " pixels wide, too wide to decode here", true);
    }
    var plan = gridPlan(h.width, h.height);
    var read = makeReader(h);
    var grid = new Uint8Array(plan.gw * plan.gh * 3);
    if (h.colorType === 3 && h.palette.length >= 3) {
      // Pixels the data never reaches are index 0, as in Pillow's zeroed image memory.
      for (var z = 0; z < grid.length; z += 3) grid.set(h.palette.subarray(0, 3), z);
    }

    var passes = h.interlace ? ADAM7 : NOT_INTERLACED;
    var p = -1;
    var pw = 0;
    var ph = 0;
    var py = 0;
    var rowBytes = 0;
    var cur = null;
    var prev = null;
    var fill = 0;
    var gRow = 0; // first grid row not yet below this pass's current row
    var rowsSeen = 0;

    function nextPass() {
      for (p++; p < passes.length; p++) {
        var q = passes[p];
        pw = h.width > q[0] ? Math.ceil((h.width - q[0]) / q[2]) : 0;
        ph = h.height > q[1] ? Math.ceil((h.height - q[1]) / q[3]) : 0;
        if (pw && ph) break;
      }
      if (p >= passes.length) return false;
      rowBytes = Math.ceil((pw * bitsPerPixel) / 8);
      cur = new Uint8Array(rowBytes + 1);
      prev = new Uint8Array(rowBytes + 1);
      py = 0;
      fill = 0;
      gRow = 0;
      return true;
    }

    function emitRow() {
      var q = passes[p];
      var line = cur.subarray(1);
      unfilter(cur[0], line, prev.subarray(1), bpp);
      var y = q[1] + py * q[3];
      while (gRow < plan.gh && plan.rowIdx[gRow] < y) gRow++;
      for (var i = gRow; i < plan.gh && plan.rowIdx[i] === y; i++) {
        var o = i * plan.gw * 3;
        for (var j = 0; j < plan.gw; j++, o += 3) {
          var dx = plan.colIdx[j] - q[0];
          if (dx >= 0 && dx % q[2] === 0) read(line, dx / q[2], grid, o);
        }
      }
      var t = prev;
      prev = cur;
      cur = t;
      py++;
      rowsSeen++;
      fill = 0;
    }

    var done = !nextPass();
    var stream = new Blob(h.idat).stream().pipeThrough(new DecompressionStream("deflate"));
    var reader = stream.getReader();
    try {
      while (!done) {
        var chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw PNGError("damaged or truncated image data (" + ((e && e.message) || e) + ")");
        }
        if (chunk.done) {
          // The zlib data ended early. Pillow keeps the image when that happens between two
          // rows, after at least one (the rest stays zero), and refuses it otherwise.
          if (fill > 0 || rowsSeen === 0) throw PNGError("the image data ends early");
          break;
        }
        var data = chunk.value;
        var at = 0;
        while (at < data.length && !done) {
          var take = Math.min(rowBytes + 1 - fill, data.length - at);
          cur.set(data.subarray(at, at + take), fill);
          fill += take;
          at += take;
          if (fill === rowBytes + 1) {
            emitRow();
            if (py === ph) done = !nextPass();
          }
        }
      }
    } finally {
      // All rows are in (or an error): data after them, its checksum included, is not read.
      reader.cancel().catch(function () {});
    }
    return {
      pixels: grid,
      channels: 3,
      width: h.width,
      height: h.height,
      gw: plan.gw,
      gh: plan.gh,
      alpha: h.alpha,
      interlaced: h.interlace === 1,
    };
  }

  var api = { decodeGrid: decodeGrid, parse: parse, isPNG: isPNG, crc32: crc32 };
  root.SafeSpacePNG = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
