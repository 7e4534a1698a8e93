/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { compression, defineAlgorithm } from 'vite-plugin-compression2';

// `npm run dev` serves the app on 5173 and proxies the backend (API, health, logos, the /hls/
// development fallback) on BACKEND_URL, so the app talks to one origin as it does in production.
const backend = process.env.BACKEND_URL ?? 'http://localhost:8000';
const proxied = ['/api', '/healthz', '/static', '/hls'];

export default defineConfig({
  plugins: [
    react(),
    // A brotli and a gzip copy beside every compressible file of the build, at the highest levels
    // (paid once per build): the backend sends the one the browser accepts (routers/web_app.py).
    compression({
      algorithms: [defineAlgorithm('brotliCompress'), defineAlgorithm('gzip', { level: 9 })],
      include: [/\.(js|mjs|css|html|svg|json|txt)$/],
      threshold: 1024,
    }),
  ],
  server: {
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    // Maps are built for development; the backend serves no `.map` outside it (routers/web_app.py).
    sourcemap: true,
    // Shaka Player is loaded with the player route only; it is ~220 kB gzipped on its own.
    chunkSizeWarningLimit: 800,
    // Brotli at its highest quality is most of the build's time, by choice (paid once per build,
    // a smaller download on every first visit): no warning that plugins took most of it.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
