// compress and decompress: images stored as their codes plus the decoder weights (.lkc).
import { Option, type Command } from 'commander';
import { CODE_DTYPES, type CodeDtype } from '../tasks/compress/code-dtypes.js';
import { runCommand, countOption, dataDirOption, intArg, positiveInt } from './args.js';
import { splitOption } from './embed.js';
import { filesOutputOption, formatOf, jsonOption, outputOption, reporter, UsageError, writeOutput } from './output.js';

export function registerCompress(program: Command): void {
  runCommand(program, 'compress', 'store images as their codes plus the decoder weights (.lkc); prints the ratio and round-trip PSNR/SSIM')
    .addOption(filesOutputOption('file to write (e.g. codes.lkc)', 'a .lkc file that it reads back to check the round trip').makeOptionMandatory())
    .addOption(jsonOption())
    .addOption(new Option('--dtype <T>', 'code precision').choices([...CODE_DTYPES]).default('float32'))
    .addOption(splitOption())
    .option('--limit <N>', 'compress the first N images of the split', intArg)
    .addOption(dataDirOption())
    .addHelpText('after', `
The ratio compares with 8-bit pixels (the IDX files). int8 stores each code number in one byte
(per-dimension min/max scale); float16 in two.

Examples:
  latentkit compress logs/trial_0_autoencoder -o test.lkc
  latentkit compress logs/trial_0_autoencoder --dtype int8 -o test-int8.lkc
  latentkit decompress test-int8.lkc -o recon.png`)
    .action(async (dir: string, o) => {
      const { compressRun } = await import('../tasks/compress/compress.js');
      const r = await compressRun(dir, { out: o.output, dtype: o.dtype as CodeDtype, split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint });
      const say = reporter(o);
      say.status(`wrote ${r.path}: ${r.n} images, ${r.dtype} codes`);
      say.result(r, [
        `size: ${r.rawBytes} bytes of pixels -> ${r.fileBytes} bytes (codes ${r.codesBytes}, decoder ${r.decoderBytes}, header ${r.fileBytes - r.codesBytes - r.decoderBytes})`,
        `compression ratio: ${r.ratio.toFixed(1)}x with the decoder, ${r.codesRatio.toFixed(1)}x codes alone`,
        `round trip: PSNR ${r.roundTrip.psnr.toFixed(2)} dB  SSIM ${r.roundTrip.ssim.toFixed(4)}  MSE ${r.roundTrip.mse.toFixed(6)}`,
        `float32 codes: PSNR ${r.reference.psnr.toFixed(2)} dB  SSIM ${r.reference.ssim.toFixed(4)}  MSE ${r.reference.mse.toFixed(6)}`,
      ]);
    });

  program
    .command('decompress')
    .argument('<file>', '.lkc file written by compress')
    .description('decode a .lkc file with the decoder weights inside it, to a PNG grid or an IDX file')
    .addOption(outputOption('.png (a grid of the first --count images) or .idx / .idx.gz (all images, uint8)').makeOptionMandatory())
    .addOption(countOption('images in the PNG grid', 100))
    .option('--scale <N>', 'PNG pixel scale', positiveInt, 1)
    .option('--compare', 'also load the original images and print PSNR/SSIM')
    .addOption(dataDirOption('Fashion-MNIST folder (with --compare)'))
    .addHelpText('after', `
Examples:
  latentkit decompress test.lkc -o recon.png --count 64 --scale 2
  latentkit decompress test.lkc -o recon-images-idx3-ubyte.gz --compare`)
    .action(async (file: string, o) => {
      const { decompressFile } = await import('../tasks/compress/compress.js');
      const { writeIdx } = await import('../data/idx.js');
      const { imageGridPng } = await import('../viz/png.js');
      const path = String(o.output);
      const isPng = formatOf(path, { '.png': 'png', '.idx': 'idx', '.idx.gz': 'idx', '-ubyte': 'idx', '-ubyte.gz': 'idx' }) === 'png';
      if (!isPng && path === '-') throw new UsageError('-o -: IDX output needs a file name (.idx, .idx.gz); use a .png name for stdout');
      const say = reporter(o);
      const r = await decompressFile(file, { compare: o.compare, dataDir: o.dataDir });
      const { n, inputShape } = r.header;
      const [c, h, w] = inputShape as [number, number, number];
      if (isPng) {
        const count = Math.min(n, o.count);
        writeOutput(path, imageGridPng(r.recon, { n: count, channels: c as 1 | 3, height: h, width: w, cols: Math.ceil(Math.sqrt(count)), scale: o.scale }));
        say.status(`wrote ${path} (${count} of ${n} images)`);
      } else {
        const px = Uint8Array.from(r.recon, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
        writeIdx(path, { shape: c === 1 ? [n, h, w] : [n, c, h, w], data: px });
        say.status(`wrote ${path} (${n} images, uint8)`);
      }
      if (r.quality) say.status(`vs the originals: PSNR ${r.quality.psnr.toFixed(2)} dB  SSIM ${r.quality.ssim.toFixed(4)}  MSE ${r.quality.mse.toFixed(6)}`);
    });
}
