/**
 * Worker thread of `readRecipeTree`: claims chunks of recipe directories from the shared counter
 * until none is left, and posts their results back. Loads only recipeTree.js and the format's parser.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { claimChunks, loadFormat, type WorkerInput, type WorkerOutput } from './recipeTree.js';

const input = workerData as WorkerInput;
const parser = await loadFormat(input.format);
const counter = new Int32Array(input.shared);
// From here on this thread may claim chunks: the main thread waits for its results.
Atomics.store(counter, 1 + input.index, 1);
const output: WorkerOutput = { chunks: claimChunks(input, parser, counter) };
parentPort?.postMessage(output);
