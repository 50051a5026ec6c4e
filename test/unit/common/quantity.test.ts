import assert from 'node:assert/strict';
import { formatBytes, parseQuantityBytes } from '../../../src/common/quantity.js';

describe('quantities', () => {
  it('parses Kubernetes quantities into bytes', () => {
    assert.equal(parseQuantityBytes('10Gi'), 10 * 2 ** 30);
    assert.equal(parseQuantityBytes('500M'), 500e6);
    assert.equal(parseQuantityBytes('1.5Ki'), 1536);
    assert.equal(parseQuantityBytes('1e3'), 1000);
    assert.equal(parseQuantityBytes('1073741824'), 2 ** 30);
    assert.throws(() => parseQuantityBytes('ten gigs'), /"ten gigs" is not a Kubernetes quantity/);
  });

  it('formats bytes in binary units', () => {
    assert.equal(formatBytes(1992864825344), '1.8Ti');
    assert.equal(formatBytes(10 * 2 ** 30), '10Gi');
    assert.equal(formatBytes(512), '512');
    assert.equal(formatBytes(1536), '1.5Ki');
  });
});
