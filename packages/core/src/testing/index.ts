// @spendguard/core/testing: the adapter conformance suite. An adapter is done when it passes.
import { describe } from 'vitest';
import type { ConformanceOptions } from './harness.js';
import { beyondSuite } from './suite-beyond.js';
import { faultsSuite } from './suite-faults.js';
import { feedSuite } from './suite-feed.js';
import { growthSuite } from './suite-growth.js';
import { leasesSuite } from './suite-leases.js';
import { limitsSuite } from './suite-limits.js';
import { periodsSuite } from './suite-periods.js';
import { propertiesSuite } from './suite-properties.js';
import { reservationsSuite } from './suite-reservations.js';
import { serviceEdgesSuite } from './suite-service-edges.js';
import { spendingSuite } from './suite-spending.js';

export { type ConformanceOptions, type CreateOptions, type Fixture, fixture, micros } from './harness.js';
export { ManualClock } from './manual-clock.js';
export { type Metered, metered, newStepLog, type StepLog } from './metered-store.js';
export { type SwitchableStore, switchable } from './switchable-store.js';

/** Runs every conformance test against the adapter that `options.create` makes (keyv's test-suite style). */
export function runConformanceSuite(name: string, options: ConformanceOptions): void {
  describe(`${name}: spendguard storage-adapter conformance`, () => {
    spendingSuite(options);
    reservationsSuite(options);
    periodsSuite(options);
    limitsSuite(options);
    beyondSuite(options);
    if (options.leases !== false) leasesSuite(options);
    if (options.feed !== false) feedSuite(options);
    propertiesSuite(options);
    serviceEdgesSuite(options);
    faultsSuite(options);
    growthSuite(options);
  });
}
