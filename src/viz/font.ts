// A 3x5 pixel bitmap font, so PNG figures can carry short labels without a text renderer.
// Each glyph is five octal digits, one per row, top to bottom; bit 4 is the left column.

const GLYPHS: Record<string, string> = {
  '0': '75557', '1': '26227', '2': '71747', '3': '71317', '4': '55711',
  '5': '74717', '6': '74757', '7': '71122', '8': '75757', '9': '75717',
  A: '25755', B: '65656', C: '34443', D: '65556', E: '74647', F: '74644',
  G: '34553', H: '55755', I: '72227', J: '11152', K: '55655', L: '44447',
  M: '57755', N: '65555', O: '25552', P: '65644', Q: '25563', R: '65655',
  S: '34216', T: '72222', U: '55557', V: '55552', W: '55775', X: '55255',
  Y: '55222', Z: '71247',
  ' ': '00000', '.': '00002', ',': '00024', '-': '00700', _: '00007',
  '/': '11244', ':': '02020', '(': '24442', ')': '21112', '+': '02720',
  '=': '07070', '%': '51245', '?': '71202', '!': '22202', "'": '22000',
};

export const GLYPH_W = 3;
export const GLYPH_H = 5;
/** Horizontal distance from one glyph to the next (glyph plus one blank column). */
export const ADVANCE = GLYPH_W + 1;

/** Width in pixels of `text` at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/**
 * Draw `text` (upper-cased; unknown characters as '?') into an interleaved pixel buffer of
 * `imgW` x `imgH` with `channels` bytes per pixel. Pixels outside the image are skipped.
 */
export function drawText(
  buf: Uint8Array,
  imgW: number,
  imgH: number,
  channels: number,
  x0: number,
  y0: number,
  text: string,
  color: readonly number[],
  scale = 1,
): void {
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const g = GLYPHS[ch] ?? GLYPHS['?']!;
    for (let row = 0; row < GLYPH_H; row++) {
      const bits = g.charCodeAt(row) - 48;
      for (let col = 0; col < GLYPH_W; col++) {
        if (!(bits & (4 >> col))) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + col * scale + dx;
            const py = y0 + row * scale + dy;
            if (px < 0 || py < 0 || px >= imgW || py >= imgH) continue;
            const o = (py * imgW + px) * channels;
            for (let c = 0; c < channels; c++) buf[o + c] = color[c] ?? color[0]!;
          }
        }
      }
    }
    x += ADVANCE * scale;
  }
}
