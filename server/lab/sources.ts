// Where the lab reads the repo files a learner may edit (server/app, nginx
// files, ecosystem.config.js, the learner's own tests). Two ways:
//
//   worktree  the files as they are on disk. The learner's lab: every edit
//             counts, and an exercise's start file is written into the real
//             file when the lesson opens.
//   pristine  the lab as committed. The lab's own tests and the lessons' dev
//             check must not depend on what a learner has edited: an exercise
//             file is read from git HEAD (when it differs on disk), and a test
//             can lay a lesson's start file over it, in memory, never on disk.
//
// Anything that needs a real path (nginx's `include`, Playwright's test file)
// gets one from pathOf(): the file itself, or a copy in the run directory.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './settings.ts';

export type SourceMode = 'worktree' | 'pristine';

export class Sources {
  private readonly overlays = new Map<string, string>();
  private readonly committedCache = new Map<string, string | null>();

  private readonly tracked: ReadonlySet<string>;

  /**
   * @param starts every exercise file (relative path) and the start versions
   *   lessons give it: the pristine mode reads these files from git; every
   *   other file is read from disk in both modes
   */
  constructor(
    readonly mode: SourceMode,
    private readonly starts: ReadonlyMap<string, string[]> = new Map(),
  ) {
    this.tracked = new Set(starts.keys());
  }

  /** The start versions lessons give `rel` (a file holding one of them has nothing of the learner's to lose). */
  knownStarts(rel: string): string[] {
    return this.starts.get(rel) ?? [];
  }

  /** The content the lab uses for a repo file (`rel`: relative to the repo root, with /). */
  read(rel: string): string {
    const overlay = this.overlays.get(rel);
    if (overlay !== undefined) return overlay;
    if (this.mode === 'pristine' && this.tracked.has(rel)) {
      const committed = this.committed(rel);
      if (committed !== null) return committed;
    }
    return readFileSync(path.join(repoRoot, rel), 'utf8');
  }

  /** Whether the lab reads `rel` from somewhere other than the file on disk. */
  isVirtual(rel: string): boolean {
    if (this.overlays.has(rel)) return true;
    if (this.mode !== 'pristine' || !this.tracked.has(rel)) return false;
    const committed = this.committed(rel);
    return committed !== null && committed !== readFileSync(path.join(repoRoot, rel), 'utf8');
  }

  /** Pristine mode only: use `content` for `rel` (null: back to the committed file). */
  overlay(rel: string, content: string | null): void {
    if (this.mode !== 'pristine') throw new Error('internal: overlays are for the pristine mode (tests)');
    if (content === null) this.overlays.delete(rel);
    else this.overlays.set(rel, content);
  }

  /** Pristine mode: drop every overlay (back to the lab as committed). */
  clearOverlays(): void {
    this.overlays.clear();
  }

  /** A path on disk holding what read(rel) returns: the file itself, or a copy under `runDir`. */
  pathOf(rel: string, runDir: string): string {
    if (!this.isVirtual(rel)) return path.join(repoRoot, rel);
    const copy = path.join(runDir, 'sources', rel);
    mkdirSync(path.dirname(copy), { recursive: true });
    writeFileSync(copy, this.read(rel));
    return copy;
  }

  /** Tracked files whose working copy differs from git HEAD (the pristine mode ignores those edits). */
  editedOnDisk(): string[] {
    if (this.mode !== 'pristine') return [];
    return [...this.tracked].filter((rel) => {
      const committed = this.committed(rel);
      const onDisk = existsSync(path.join(repoRoot, rel)) ? readFileSync(path.join(repoRoot, rel), 'utf8') : null;
      return committed !== null && committed !== onDisk;
    });
  }

  /** `git show HEAD:<rel>`, once per file; null outside a git checkout or for an untracked file. */
  committed(rel: string): string | null {
    if (!this.committedCache.has(rel)) {
      let content: string | null = null;
      try {
        content = execFileSync('git', ['show', `HEAD:${rel}`], {
          cwd: repoRoot,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        content = null;
      }
      this.committedCache.set(rel, content);
    }
    return this.committedCache.get(rel) ?? null;
  }
}
