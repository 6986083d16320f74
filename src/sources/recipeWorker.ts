/** Worker thread of `readNativeRecipes`: reads one chunk of recipe directories and posts the results back. */
import { parentPort, workerData } from 'node:worker_threads';
import { readRecipeDirs } from './nativeRecipes.js';

const { root, displayRoot, dirNames, known } = workerData as { root: string; displayRoot: string; dirNames: string[]; known?: Record<string, Record<string, string>> };
parentPort?.postMessage(readRecipeDirs(root, displayRoot, dirNames, known));
