export * from './layers.js';
export * from './norm.js';
export * from './lstm.js';
export { Module, beginTrace, type StateDict, type StateEntry } from './module.js';
export { Parameter, Buffer } from './parameter.js';
export { manualSeed } from './init.js';
