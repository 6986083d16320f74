/** Builders of scheduler input for table-driven tests. */
import type { ScheduleHost, ScheduleJob } from '../../src/schedule/index.js';

export const job = (id: string, seconds: number, dependsOn: string[] = [], labels?: string[]): ScheduleJob =>
  labels === undefined ? { id, seconds, dependsOn } : { id, seconds, dependsOn, labels };

export const host = (name: string, power: number, labels: string[] = ['x86_64'], up = true): ScheduleHost => ({ name, power, labels, up });
