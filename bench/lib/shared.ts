import { rm } from 'node:fs/promises';
import { buildBenchImages, type BenchImage } from './images';
import type { BenchContext } from './section';

/** The bench images, built once per bench run and shared by the push sections. */
export function benchImages(ctx: BenchContext): Promise<BenchImage[]> {
  return ctx.shared('images', async () => {
    const dir = await ctx.tmp('nimbus-bench-images-');
    return Object.assign(await buildBenchImages(dir, ctx.log), { dir });
  }, (images) => rm(images.dir, { recursive: true, force: true }));
}
