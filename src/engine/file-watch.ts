import { watch, type FSWatcher } from 'node:fs';

/** A running file watch; `close()` stops it. */
export interface FileWatch {
  close(): void;
  /** Re-reads the file now (also what a change event triggers). Returns whether it took effect. */
  reload(): boolean;
}

/**
 * Calls `reload` when `path` changes, coalescing bursts of events (editors
 * write in several steps). Watches the directory, so editors that replace the
 * file by rename are seen. `reload` validates and applies; it returns whether
 * anything changed.
 */
export function watchFile(path: string, reload: () => boolean, onError: (error: Error) => void, debounceMs = 50): FileWatch {
  let timer: NodeJS.Timeout | undefined;
  const { dir, base } = splitPath(path);
  let watcher: FSWatcher | null = watch(dir, { persistent: false }, (_event, filename) => {
    if (filename !== null && filename.toString() !== base) return;
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  });
  watcher.on('error', (err) => onError(err));
  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
      watcher = null;
    },
  };
}

function splitPath(path: string): { dir: string; base: string } {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? { dir: '.', base: path } : { dir: path.slice(0, i) || '/', base: path.slice(i + 1) };
}
