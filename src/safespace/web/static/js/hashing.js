/*
 * SafeSpace on-device hashing: a File in, {pdq, pdq_quality, md5, ...} out, with nothing
 * sent anywhere. Load pdq.js, md5.js and png.js first, then this file, from the same folder:
 *
 *   <script src="js/pdq.js"></script><script src="js/md5.js"></script>
 *   <script src="js/png.js"></script><script src="js/hashing.js"></script>
 *   const r = await SafeSpaceHashing.hashFile(input.files[0]);
 *
 * The work runs in a Web Worker (this same file, loaded as a worker) when the browser can
 * decode images there (createImageBitmap + OffscreenCanvas), otherwise on the page.
 *
 * Decoding follows the server: pixels as stored (EXIF orientation is neutralised before
 * decoding, see below), no colour-profile conversion, alpha dropped. PNGs are decoded by
 * png.js (load it before this file; the worker imports it), which keeps the colour stored
 * under transparent pixels as the server does; everything else by the browser's canvas.
 */
(function (root) {
  "use strict";

  var inWorker =
    typeof WorkerGlobalScope !== "undefined" && root instanceof WorkerGlobalScope;
  var scriptUrl =
    !inWorker && typeof document !== "undefined" && document.currentScript
      ? document.currentScript.src
      : null;

  if (inWorker) {
    // The worker was started from this file's own URL, version query and all: load the other
    // scripts with the same query, so a browser never mixes files of two releases.
    var version = (root.location && root.location.search) || "";
    root.importScripts("pdq.js" + version, "md5.js" + version, "png.js" + version);
  }

  var HEAD = 512; // bytes read to sniff the format
  // Pictures over this many pixels are refused before decoding: the server's default
  // max_image_pixels, so the page never hashes what the server would refuse.
  var MAX_PIXELS = 128000000;
  var HEIF_BRANDS = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"];
  var AVIF_BRANDS = ["avif", "avis"];
  var QT_ATOMS = ["moov", "mdat", "wide", "free", "skip"];

  function ascii(b, start, end) {
    var s = "";
    for (var i = start; i < end && i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }

  function startsWith(b, bytes, at) {
    at = at || 0;
    if (b.length < at + bytes.length) return false;
    for (var i = 0; i < bytes.length; i++) if (b[at + i] !== bytes[i]) return false;
    return true;
  }

  /** What the first bytes say the file is: {kind: "image"|"video"|"unknown", format}. */
  function sniff(b) {
    if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: "image", format: "JPEG" };
    if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
      return { kind: "image", format: "PNG" };
    }
    var a4 = ascii(b, 0, 4);
    if (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a") {
      return { kind: "image", format: "GIF" };
    }
    if (a4 === "RIFF" && ascii(b, 8, 12) === "WEBP") return { kind: "image", format: "WEBP" };
    if (a4 === "RIFF" && ascii(b, 8, 12) === "AVI ") return { kind: "video", format: "AVI" };
    if (ascii(b, 0, 2) === "BM" && b.length >= 14) return { kind: "image", format: "BMP" };
    if (a4 === "II*\0" || a4 === "MM\0*") return { kind: "image", format: "TIFF" };
    if (startsWith(b, [0, 0, 1, 0])) return { kind: "image", format: "ICO" };
    if (startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20])) {
      return { kind: "image", format: "JPEG2000" };
    }
    if (a4 === "qoif") return { kind: "image", format: "QOI" };
    var box = ascii(b, 4, 8);
    if (box === "ftyp") {
      var size = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      var brands = [ascii(b, 8, 12)];
      for (var o = 16; o + 4 <= Math.min(size, b.length); o += 4) brands.push(ascii(b, o, o + 4));
      if (brands.some((x) => AVIF_BRANDS.indexOf(x) >= 0)) return { kind: "image", format: "AVIF" };
      if (brands.some((x) => HEIF_BRANDS.indexOf(x) >= 0)) return { kind: "image", format: "HEIF" };
      return { kind: "video", format: brands[0].trim() === "qt" ? "QuickTime" : "MP4" };
    }
    if (QT_ATOMS.indexOf(box) >= 0) return { kind: "video", format: "QuickTime" };
    if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: "video", format: "Matroska" };
    if (ascii(b, 0, 3) === "FLV") return { kind: "video", format: "FLV" };
    if (startsWith(b, [0x30, 0x26, 0xb2, 0x75])) return { kind: "video", format: "ASF" };
    if (startsWith(b, [0, 0, 1, 0xba])) return { kind: "video", format: "MPEG-PS" };
    if (b.length > 376 && b[0] === 0x47 && b[188] === 0x47 && b[376] === 0x47) {
      return { kind: "video", format: "MPEG-TS" };
    }
    return { kind: "unknown", format: null };
  }

  // ---- EXIF orientation. The server hashes pixels as stored; Chromium's createImageBitmap
  // applies the EXIF orientation whatever imageOrientation says ("none" acts as
  // "from-image"), so the tag is set to 1 (as stored) in a copy of the bytes before
  // decoding. JPEG APP1, PNG eXIf (CRC recomputed) and WebP EXIF are handled.

  /** PNG's chunk CRC: png.js's (loaded before this file on a page, imported in a worker). */
  function crc32(b, start, end) {
    return root.SafeSpacePNG.crc32(b, start, end);
  }

  /** Set a TIFF block's IFD0 orientation to 1 in place; true when it changed a value. */
  function resetTiffOrientation(b, tiff, end) {
    if (ascii(b, tiff, tiff + 6) === "Exif\0\0") tiff += 6;
    if (tiff + 8 > end) return false;
    var le = b[tiff] === 0x49 && b[tiff + 1] === 0x49;
    if (!le && !(b[tiff] === 0x4d && b[tiff + 1] === 0x4d)) return false;
    var u16 = function (o) {
      return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
    };
    var u32 = function (o) {
      return le
        ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
        : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    };
    var ifd = tiff + u32(tiff + 4);
    if (ifd + 2 > end) return false;
    var count = u16(ifd);
    for (var k = 0; k < count; k++) {
      var e = ifd + 2 + 12 * k;
      if (e + 12 > end) return false;
      if (u16(e) === 0x0112 && u16(e + 8) !== 1) {
        b[e + 8] = le ? 1 : 0;
        b[e + 9] = le ? 0 : 1;
        return true;
      }
    }
    return false;
  }

  function u32be(b, o) {
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  /** Reset every EXIF orientation tag of an image in place; true when any changed. */
  function resetOrientation(b, format) {
    var changed = false;
    var pos;
    var len;
    if (format === "JPEG") {
      pos = 2;
      while (pos + 4 <= b.length && b[pos] === 0xff) {
        var marker = b[pos + 1];
        if (marker === 0xff) {
          pos++;
          continue;
        }
        if (marker === 0xda || marker === 0xd9) break; // image data follows
        if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
          pos += 2;
          continue;
        }
        len = (b[pos + 2] << 8) | b[pos + 3];
        if (marker === 0xe1 && ascii(b, pos + 4, pos + 10) === "Exif\0\0") {
          changed = resetTiffOrientation(b, pos + 4, Math.min(pos + 2 + len, b.length)) || changed;
        }
        pos += 2 + len;
      }
    } else if (format === "PNG") {
      pos = 8;
      while (pos + 12 <= b.length) {
        len = u32be(b, pos);
        var type = ascii(b, pos + 4, pos + 8);
        var data = pos + 8;
        if (data + len + 4 > b.length || type === "IEND") break;
        if (type === "eXIf" && resetTiffOrientation(b, data, data + len)) {
          var crc = crc32(b, pos + 4, data + len);
          b[data + len] = crc >>> 24;
          b[data + len + 1] = (crc >>> 16) & 0xff;
          b[data + len + 2] = (crc >>> 8) & 0xff;
          b[data + len + 3] = crc & 0xff;
          changed = true;
        }
        pos = data + len + 4;
      }
    } else if (format === "WEBP") {
      pos = 12;
      while (pos + 8 <= b.length) {
        len = (b[pos + 4] | (b[pos + 5] << 8) | (b[pos + 6] << 16) | (b[pos + 7] << 24)) >>> 0;
        if (ascii(b, pos, pos + 4) === "EXIF") {
          changed = resetTiffOrientation(b, pos + 8, Math.min(pos + 8 + len, b.length)) || changed;
        }
        pos += 8 + len + (len & 1);
      }
    }
    return changed;
  }

  /** The Blob to decode: the file itself, or a copy with its EXIF orientation reset. */
  async function asStored(file, format) {
    if (format !== "JPEG" && format !== "PNG" && format !== "WEBP") return file;
    var bytes = new Uint8Array(await file.arrayBuffer());
    return resetOrientation(bytes, format) ? new Blob([bytes]) : file;
  }

  function makeCanvas(w, h) {
    if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(w, h);
    var c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    return c;
  }

  function anyAlpha(rgba) {
    for (var i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
    return false;
  }

  /**
   * Decode an image Blob with the browser and return the PDQ grid's RGBA pixels: {pixels,
   * channels, width, height, gw, gh, alphaLost}. The canvas stores premultiplied alpha, so
   * where a sampled pixel is not opaque its colour may differ from the stored one the server
   * hashes: `alphaLost` says so. Big pictures are read one sampled row at a time, so only
   * the decoded bitmap and a 512x512 copy are ever in memory.
   */
  async function canvasGrid(blob) {
    var bmp = await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
    var w = bmp.width;
    var h = bmp.height;
    try {
      if (w * h > MAX_PIXELS) throw tooLarge(w, h);
      var ctx = makeCanvas(w, h).getContext("2d", { willReadFrequently: true, alpha: true });
      ctx.drawImage(bmp, 0, 0);
      var P = root.SafeSpacePDQ;
      var G = P.GRID_SIZE;
      if (w <= G && h <= G) {
        var all = ctx.getImageData(0, 0, w, h).data;
        return {
          pixels: all,
          channels: 4,
          width: w,
          height: h,
          gw: w,
          gh: h,
          alphaLost: anyAlpha(all),
        };
      }
      var rows = P.gridIndices(h);
      var cols = P.gridIndices(w);
      var grid = new Uint8ClampedArray(G * G * 4);
      var prev = -1;
      var line = null;
      for (var i = 0; i < G; i++) {
        if (rows[i] !== prev) {
          line = ctx.getImageData(0, rows[i], w, 1).data;
          prev = rows[i];
        }
        for (var j = 0, o = i * G * 4; j < G; j++, o += 4) {
          var p = cols[j] * 4;
          grid[o] = line[p];
          grid[o + 1] = line[p + 1];
          grid[o + 2] = line[p + 2];
          grid[o + 3] = line[p + 3];
        }
      }
      return {
        pixels: grid,
        channels: 4,
        width: w,
        height: h,
        gw: G,
        gh: G,
        alphaLost: anyAlpha(grid),
      };
    } finally {
      bmp.close();
    }
  }

  function tooLarge(w, h) {
    var e = new Error("image is " + w + "x" + h + " pixels, over the limit of " + MAX_PIXELS);
    e.tooLarge = true;
    return e;
  }

  function ownPngDecoder() {
    return typeof root.SafeSpacePNG !== "undefined" && typeof DecompressionStream !== "undefined";
  }

  /**
   * The PDQ grid of an image file: {pixels, channels, width, height, gw, gh, decoder,
   * alphaLost}. PNGs go to png.js (exact: the server's pixels, transparent or not) unless
   * `decoder: "canvas"` is asked for (for comparison) or this browser lacks
   * DecompressionStream; other formats, and those PNGs, to the canvas.
   */
  async function decodeGrid(file, format, options) {
    var force = options && options.decoder === "canvas";
    if (format === "PNG" && !force && ownPngDecoder()) {
      var bytes = new Uint8Array(await file.arrayBuffer());
      var g = await root.SafeSpacePNG.decodeGrid(bytes, { maxPixels: MAX_PIXELS });
      g.decoder = "png";
      g.alphaLost = false;
      return g;
    }
    var c = await canvasGrid(await asStored(file, format));
    c.decoder = "canvas";
    return c;
  }

  function errorText(e, format) {
    if (e && e.tooLarge) return "this image is too large to fingerprint here: " + e.message;
    if (e && e.name === "PNGError") return "this PNG file is damaged: " + e.message;
    return "this browser cannot decode this " + (format || "") + " image";
  }

  /**
   * Hash one File or Blob where this code runs. Resolves to {media_kind, media_format, pdq,
   * pdq_quality, md5, size_bytes, width, height, decoder, alpha_lost, error, timings}; `pdq`
   * is null for videos and for images that cannot be decoded (then `error` says why).
   * `decoder` is "png" (SafeSpace's own PNG decoder: the server's pixels exactly) or
   * "canvas" (the browser's); `alpha_lost` is true when the canvas saw pixels that are not
   * opaque, whose stored colour it loses (the hash may differ from the server's, see
   * docs/browser-hashing.md). Options: decoder ("canvas" forces the browser's decoder).
   */
  async function hashHere(file, options) {
    var t0 = performance.now();
    var head = new Uint8Array(await file.slice(0, HEAD).arrayBuffer());
    var kind = sniff(head);
    var out = {
      media_kind: kind.kind,
      media_format: kind.format,
      pdq: null,
      pdq_quality: null,
      md5: null,
      size_bytes: file.size,
      width: null,
      height: null,
      decoder: null,
      alpha_lost: null,
      error: null,
      timings: {},
    };
    if (kind.kind === "image") {
      try {
        var t1 = performance.now();
        var g = await decodeGrid(file, kind.format, options);
        var t2 = performance.now();
        var r = root.SafeSpacePDQ.pdqFromPixels(g.pixels, g.gw, g.gh, g.channels);
        out.timings.decode_ms = t2 - t1;
        out.timings.pdq_ms = performance.now() - t2;
        out.pdq = r.hash;
        out.pdq_quality = r.quality;
        out.width = g.width;
        out.height = g.height;
        out.decoder = g.decoder;
        out.alpha_lost = g.alphaLost;
      } catch (e) {
        out.error = errorText(e, kind.format);
      }
    }
    var t3 = performance.now();
    out.md5 = await root.SafeSpaceMD5.md5Blob(file, options);
    out.timings.md5_ms = performance.now() - t3;
    out.timings.total_ms = performance.now() - t0;
    return out;
  }

  if (inWorker) {
    root.onmessage = function (event) {
      var msg = event.data;
      hashHere(msg.file, msg.options).then(
        function (result) {
          root.postMessage({ id: msg.id, result: result });
        },
        function (err) {
          root.postMessage({ id: msg.id, error: String((err && err.message) || err) });
        }
      );
    };
    return;
  }

  var worker = null;
  var pending = {};
  var nextId = 1;

  function workerSupported() {
    return (
      scriptUrl !== null &&
      typeof Worker !== "undefined" &&
      typeof OffscreenCanvas !== "undefined" &&
      typeof createImageBitmap !== "undefined"
    );
  }

  function getWorker() {
    if (worker !== null) return worker;
    worker = new Worker(scriptUrl);
    worker.onmessage = function (event) {
      var msg = event.data;
      var p = pending[msg.id];
      delete pending[msg.id];
      if (!p) return;
      if (msg.error) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    };
    worker.onerror = function (event) {
      for (var id in pending) pending[id].reject(new Error(event.message || "worker failed"));
      pending = {};
    };
    return worker;
  }

  /**
   * Hash a File (or Blob) on the device; the bytes never leave the browser. Options:
   * worker (false: run on the page), chunkSize (bytes per MD5 slice, default 4 MiB),
   * onProgress(done, total) for the MD5 pass (on the page only), decoder ("canvas": use
   * the browser's decoder for PNGs too, to compare).
   */
  function hashFile(file, options) {
    var useWorker = !(options && options.worker === false) && workerSupported();
    if (!useWorker) {
      return hashHere(file, options).then(function (r) {
        r.where = "page";
        return r;
      });
    }
    return new Promise(function (resolve, reject) {
      var id = nextId++;
      pending[id] = {
        resolve: function (r) {
          r.where = "worker";
          resolve(r);
        },
        reject: reject,
      };
      var chunk = {};
      if (options && options.chunkSize) chunk.chunkSize = options.chunkSize;
      if (options && options.decoder) chunk.decoder = options.decoder;
      getWorker().postMessage({ id: id, file: file, options: chunk });
    });
  }

  root.SafeSpaceHashing = {
    hashFile: hashFile,
    hashHere: hashHere,
    sniff: sniff,
    resetOrientation: resetOrientation,
  };
})(typeof globalThis !== "undefined" ? globalThis : this);
