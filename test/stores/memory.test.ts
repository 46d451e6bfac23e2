import { InMemorySpendStore } from '../../src/index.js';
import { spendStoreConformance } from '../helpers/store-conformance.js';

spendStoreConformance('InMemorySpendStore', () => new InMemorySpendStore());
