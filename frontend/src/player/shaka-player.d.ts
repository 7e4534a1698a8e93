// Shaka Player's npm build is a UMD bundle whose typings declare the global `shaka` namespace
// (tsconfig includes them); this names the bundle as a module of that type.
declare module 'shaka-player' {
  const shakaLib: typeof shaka;
  export default shakaLib;
}
