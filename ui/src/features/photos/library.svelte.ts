//! The imported photos as a view shows them: the stored list (newest first) with the photos of
//! the running import in front, so thumbnails appear as each file finishes.
import { onMount } from "svelte";
import { call, commands, errorOf, type ApiError, type PhotoInfo } from "../../ipc";
import { watchDataChanged } from "../../lib/live";
import { photoImporter, type PhotoImporter } from "./importer.svelte";
import { mergePhotos } from "./photos";

export class PhotoLibrary {
  stored: PhotoInfo[] = $state([]);
  loaded = $state(false);
  error: ApiError | null = $state(null);
  readonly importer: PhotoImporter;

  constructor(importer: PhotoImporter = photoImporter) {
    this.importer = importer;
  }

  get photos(): PhotoInfo[] {
    return mergePhotos(this.importer.run?.imported ?? [], this.stored);
  }

  byHash(hash: string): PhotoInfo | undefined {
    return this.photos.find((p) => p.hash === hash);
  }

  async load(): Promise<void> {
    try {
      this.stored = await call(commands.listPhotos());
      this.error = null;
    } catch (e) {
      this.error = errorOf(e);
    } finally {
      this.loaded = true;
    }
  }

  /** Loads now and again after every import and every `photo` change, while the caller is mounted. */
  loadWhileMounted(): void {
    onMount(() => {
      void this.load();
      const stopImport = this.importer.onFinished(() => void this.load());
      const stopChanges = watchDataChanged((entities) => {
        if (entities.includes("photo")) void this.load();
      });
      return () => {
        stopImport();
        stopChanges();
      };
    });
  }
}
