import type { Balancer } from "./balancer.js";
import type { Endpoint } from "./endpoint.js";

/**
 * Points each node puts on the ring, as lua-resty-balancer's chash (ingress-nginx's
 * upstream-hash-by) does per unit of weight: enough that a node's share of the ring is
 * even, and that a leaving node's keys spread over all the others.
 */
export const POINTS_PER_NODE = 160;

const RING_SIZE = 2 ** 32;

/** A 32-bit hash of a string: FNV-1a over its UTF-16 units, mixed by murmur3's finaliser so near keys land far apart. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A consistent-hash ring (ketama-style, with virtual nodes): a position belongs to the
 * first point at or after it, clockwise. Built once per set of nodes (a pool's endpoints
 * change only with a new pool), never per request; the same nodes give the same ring in
 * every process, so positions handed out in cookies survive restarts.
 */
export class HashRing<T> {
  /** Sorted point positions, and the index (into `nodes`) of each point's owner. */
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;
  /** Per node: the indexes of its points that own a non-empty arc. */
  private readonly arcs: number[][];

  constructor(
    readonly nodes: readonly T[],
    id: (node: T) => string,
    pointsPerNode = POINTS_PER_NODE,
  ) {
    const all: [position: number, owner: number][] = [];
    nodes.forEach((node, owner) => {
      const name = id(node);
      for (let i = 0; i < pointsPerNode; i++) all.push([hash32(`${name}-${i}`), owner]);
    });
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(all, (p) => p[0]);
    this.owners = Uint32Array.from(all, (p) => p[1]);
    this.arcs = nodes.map(() => []);
    for (let i = 0; i < all.length; i++) if (this.arcLength(i) > 0) this.arcs[this.owners[i]!]!.push(i);
  }

  /**
   * The node owning `position`; with `accept` (a subset of `nodes`: those available now),
   * the first accepted one clockwise from there, so a node out of rotation hands its
   * positions to its ring neighbours and gets them back when it returns.
   */
  find(position: number, accept: readonly T[] = this.nodes): T | undefined {
    const n = this.points.length;
    if (n === 0 || accept.length === 0) return undefined;
    let i = this.indexAt(position);
    if (accept.length === this.nodes.length) return this.nodes[this.owners[i]!];
    for (let k = 0; k < n; k++) {
      const node = this.nodes[this.owners[i]!]!;
      if (accept.includes(node)) return node;
      if (++i === n) i = 0;
    }
    return undefined;
  }

  /** A position `node` owns, drawn at random: what a random key landing on `node` would hash to. */
  positionOf(node: T, random: () => number = Math.random): number | undefined {
    const arcs = this.arcs[this.nodes.indexOf(node)];
    if (!arcs || arcs.length === 0) return undefined;
    const i = arcs[Math.floor(random() * arcs.length)]!;
    const length = this.arcLength(i);
    return (this.points[i]! - length + 1 + Math.floor(random() * length)) >>> 0;
  }

  /** How many positions point `i` owns: those after the previous point, up to and including its own. */
  private arcLength(i: number): number {
    const n = this.points.length;
    const previous = i === 0 ? this.points[n - 1]! - RING_SIZE : this.points[i - 1]!;
    return this.points[i]! - previous;
  }

  /** The first point at or after `position`, wrapping past the top. */
  private indexAt(position: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }
}

/**
 * upstream-hash-by: the request's key hashed onto the ring of the pool's endpoints, so
 * one key keeps its endpoint, and an endpoint joining or leaving moves only about 1/n
 * of the keys.
 */
export function hashBalancer(ring: HashRing<Endpoint>): Balancer {
  return (available, ctx) => ring.find(hash32(ctx.hashKey ?? ""), available);
}
