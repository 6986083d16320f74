/** Worker thread of `readRecipeTree`: reads one chunk of recipe directories and posts the results back. */
import { parentPort, workerData } from 'node:worker_threads';
import { readRecipeDirs, type WorkerInput } from './recipeTree.js';

const input = workerData as WorkerInput;
parentPort?.postMessage(readRecipeDirs(input, input.dirNames, input.known));
