// One user image as a model input: grayscale float32 in [0, 1], checked against the model's size.
import sharp, { type Metadata } from 'sharp';

export async function readImageForModel(path: string, h: number, w: number, resize = false): Promise<Float32Array> {
  let img = sharp(path).grayscale();
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (e) {
    throw new Error(`${path}: cannot read image: ${(e as Error).message}`);
  }
  if (!resize && (meta.width !== w || meta.height !== h))
    throw new Error(`${path}: image is ${meta.width}x${meta.height}, the model takes ${w}x${h}; resize it or pass --resize`);
  if (resize) img = img.resize(w, h, { fit: 'fill' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = data[i * info.channels]! / 255;
  return out;
}
