// The precisions a compressed file can store its codes in (its own module: the CLI lists them
// in --help without loading the compressor).
export type CodeDtype = 'float32' | 'float16' | 'int8';
export const CODE_DTYPES: readonly CodeDtype[] = ['float32', 'float16', 'int8'];
