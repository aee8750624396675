// The pages, each a chunk of its own (the initial route's JavaScript stays small). `preloadRoute`
// starts loading the current path's chunk at once, in parallel with the sign-in check, instead of
// after the first render.
export const pages = {
  overview: () => import('./pages/Overview'),
  devices: () => import('./pages/Devices'),
  device: () => import('./pages/DeviceDetail'),
  packages: () => import('./pages/Packages'),
  deployments: () => import('./pages/Deployments'),
  deploymentCreate: () => import('./pages/DeploymentCreate'),
  deployment: () => import('./pages/DeploymentDetail'),
  clients: () => import('./pages/Clients'),
  tokens: () => import('./pages/Tokens'),
  events: () => import('./pages/Events'),
};

/** The page chunk for a path under /console (without the base). */
export function pageFor(path: string): (() => Promise<unknown>) | undefined {
  const [first, second, third] = path.replace(/^\/+/, '').split('/');
  switch (first) {
    case '':
    case undefined:
      return pages.overview;
    case 'devices':
      return second ? pages.device : pages.devices;
    case 'deployments':
      return second === 'new' ? pages.deploymentCreate : second ? pages.deployment : pages.deployments;
    case 'packages':
    case 'clients':
    case 'tokens':
    case 'events':
      return third === undefined ? pages[first] : undefined;
    default:
      return undefined;
  }
}

export function preloadRoute(pathname: string): void {
  const load = pageFor(pathname.replace(/^\/console/, ''));
  if (load) void load().catch(() => undefined); // a failure shows when the page itself loads
}
