// Reading files the holder chooses (QR images, backups) with FileReader, and SVG frames as
// data: URLs (the CSP allows images from data:, not inline markup).

function read(file: Blob, how: "buffer" | "url"): Promise<string | ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => (r.result === null ? reject(r.error) : resolve(r.result));
    r.onerror = () => reject(r.error);
    if (how === "buffer") r.readAsArrayBuffer(file);
    else r.readAsDataURL(file);
  });
}

export async function readBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array((await read(file, "buffer")) as ArrayBuffer);
}

/** The file's bytes in standard base64. */
export async function readBase64(file: Blob): Promise<string> {
  const url = (await read(file, "url")) as string;
  const comma = url.indexOf(",");
  return comma >= 0 ? url.slice(comma + 1) : "";
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${base64(new TextEncoder().encode(svg))}`;
}

/** Shortens a long identifier for display: "did:alliance:abcd…wxyz". */
export function shorten(s: string, keep = 10): string {
  if (s.length <= keep * 2 + 14) return s;
  const colon = s.lastIndexOf(":");
  const head = colon > 0 && colon < 24 ? colon + 1 : 0;
  return `${s.slice(0, head + keep)}…${s.slice(-keep)}`;
}
