import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { deflateSync } from "node:zlib";

// Real image bytes for upload tests. PNG and GIF are built here; JPEG and WebP need a real encoder,
// so two tiny files (CPython's test images, 543 and 432 bytes) are committed as fixtures.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** A valid width×height RGB PNG filled with one colour. */
export function makePng(width = 2, height = 2, rgb: [number, number, number] = [200, 40, 40]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(pixels)), chunk("IEND", new Uint8Array(0))]);
}

/** The classic 1×1 GIF89a: header, screen, 2-colour table, one image, LZW data, trailer. */
export function makeGif(): Buffer {
  return Buffer.from([
    ...Buffer.from("GIF89a", "ascii"), 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    0x02, 0x02, 0x44, 0x01, 0x00,
    0x3b,
  ]);
}

const fixture = (name: string) => readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url));
export const tinyJpeg = () => fixture("tiny.jpg");
export const tinyWebp = () => fixture("tiny.webp");

export const htmlPage = () => Buffer.from("<!doctype html><html><body><script>alert(1)</script></body></html>");
/** A zip archive's local file header: what a renamed .zip looks like. */
export const zipFile = () => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]), Buffer.alloc(64, 1)]);

/**
 * A throwaway local blob store for the calling describe block (BLOB_LOCAL_DIR, removed after):
 * `root()` is its directory once the block's beforeAll has run.
 */
export function useLocalBlobDir(label: string): { root(): string } {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `tally-${label}-`));
    process.env.BLOB_LOCAL_DIR = dir;
  });
  afterAll(() => {
    delete process.env.BLOB_LOCAL_DIR;
    rmSync(dir, { recursive: true, force: true });
  });
  return { root: () => dir };
}
