package store

import bolt "go.etcd.io/bbolt"

// RawDB returns b's bbolt database, for tests that write behind the store.
func RawDB(b *Bolt) *bolt.DB { return b.db }

// CacheEntries exposes cacheEntries, the most sessions a Bolt's cache
// keeps.
const CacheEntries = cacheEntries

// CacheLen returns how many sessions b's cache holds.
func CacheLen(b *Bolt) int { return b.cache.len() }

// CacheCounts returns how many Loads the cache answered and how many
// decoded the stored value.
func CacheCounts(b *Bolt) (hits, misses uint64) { return b.cache.hits.Load(), b.cache.misses.Load() }

// Canonical exposes canonical.
var Canonical = canonical

// SetCacheEntries replaces b's cache by an empty one of at most n entries
// (0: nothing is kept), for benchmarks of the uncached paths.
func SetCacheEntries(b *Bolt, n int) { b.cache = newSessionCache(n) }
