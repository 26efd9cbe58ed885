// Types of ./malloc-tuning.js (plain JavaScript: the launcher runs before tsx or dist/ load).
export declare const TUNED_MALLOC_ENV: Readonly<{ MALLOC_MMAP_THRESHOLD_: string; MALLOC_TRIM_THRESHOLD_: string }>;
export declare function shouldRelaunch(args?: string[], env?: NodeJS.ProcessEnv, execArgv?: string[]): boolean;
export declare function relaunch(): Promise<never>;
export declare function exitWithParent(env?: NodeJS.ProcessEnv): void;
