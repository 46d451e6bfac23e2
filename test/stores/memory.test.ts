import { InMemorySpendStore } from '../../src/index.js';
import { spendStoreConformance } from './conformance.js';

spendStoreConformance('InMemorySpendStore', () => new InMemorySpendStore());
