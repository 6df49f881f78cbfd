// Image types are decided by their bytes, never by what the client claims. Beyond the magic number
// each format's structure is checked enough to catch a truncated upload: PNG must end with IEND,
// JPEG with EOI, GIF with its trailer, and a WebP's RIFF size must match the file.
export const IMAGE_TYPES = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
} as const;
export type ImageType = keyof typeof IMAGE_TYPES;

export type Sniffed = { type: ImageType; ext: string } | { problem: "unsupported" | "truncated" };

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0) => prefix.every((b, i) => bytes[at + i] === b);
const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

function detect(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) return "image/gif";
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "image/webp";
  return undefined;
}

function complete(type: ImageType, bytes: Uint8Array): boolean {
  const n = bytes.length;
  switch (type) {
    case "image/jpeg":
      return n >= 4 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
    case "image/png":
      // Signature, an IHDR chunk first, and the 12-byte IEND chunk last.
      return n >= 8 + 25 + 12 && ascii(bytes, 12, 16) === "IHDR" && ascii(bytes, n - 8, n - 4) === "IEND";
    case "image/gif":
      return n >= 14 && bytes[n - 1] === 0x3b;
    case "image/webp": {
      const riffSize = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
      return n >= 20 && riffSize + 8 === n;
    }
  }
}

export function sniffImage(bytes: Uint8Array): Sniffed {
  const type = detect(bytes);
  if (!type) return { problem: "unsupported" };
  if (!complete(type, bytes)) return { problem: "truncated" };
  return { type, ext: IMAGE_TYPES[type] };
}

/** The image type a file name's extension stands for (".jpeg" too), if it is one we accept. */
export function imageTypeOfName(pathname: string): ImageType | undefined {
  const ext = pathname.split(".").pop()?.toLowerCase();
  if (ext === "jpeg") return "image/jpeg";
  return (Object.keys(IMAGE_TYPES) as ImageType[]).find((type) => IMAGE_TYPES[type] === ext);
}

export function isImageType(value: string): value is ImageType {
  return value in IMAGE_TYPES;
}
