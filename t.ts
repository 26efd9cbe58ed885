import { ConvAutoencoder } from './src/models/conv-autoencoder.js';
import { saveOnnx } from './src/onnx/export.js';
saveOnnx('/tmp/ae.onnx', new ConvAutoencoder(), { inputs: [{ name: 'input', shape: [1, 28, 28] }] });
