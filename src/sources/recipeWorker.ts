/**
 * Worker thread of `readRecipeTree`: claims chunks of recipe directories from the shared counter
 * until none is left, posting each chunk's results back as soon as they are read. Loads only recipeTree.js and the format's parser.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { claimChunks, loadFormat, type WorkerInput, type WorkerMessage } from './recipeTree.js';

const input = workerData as WorkerInput;
const parser = await loadFormat(input.format);
const counter = new Int32Array(input.shared);
// From here on this thread may claim chunks: the main thread waits for its results.
Atomics.store(counter, 1 + input.index, 1);
const post = (message: WorkerMessage): void => parentPort?.postMessage(message);
claimChunks(input, parser, counter, (chunk, results) => post({ chunk, results }));
post({ done: true });
