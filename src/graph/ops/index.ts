// Registers every primitive (import for side effects).
import './elementwise.js';
import './matmul.js';
import './shapeops.js';
import './reduce.js';
import './conv.js';
