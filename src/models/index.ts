// Every model family, imported for the presets they register.
export * from './conv-autoencoder.js';
export * from './mlp-autoencoder.js';
export * from './presets.js';
export * from './vae.js';
export * from './sequence.js';
export * from './tabular-presets.js';
