import { AppShell, Badge, Burger, Button, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { lazy, Suspense } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { SignIn } from './pages/SignIn';
import { pages } from './routes';
import { useAuth } from './session';

const Overview = lazy(pages.overview);
const Devices = lazy(pages.devices);
const DeviceDetail = lazy(pages.device);
const Packages = lazy(pages.packages);
const Deployments = lazy(pages.deployments);
const DeploymentCreate = lazy(pages.deploymentCreate);
const DeploymentDetail = lazy(pages.deployment);
const Clients = lazy(pages.clients);
const Tokens = lazy(pages.tokens);
const Events = lazy(pages.events);

const NAV = [
  { to: '/', label: 'Fleet overview' },
  { to: '/devices', label: 'Devices' },
  { to: '/packages', label: 'Packages' },
  { to: '/deployments', label: 'Deployments' },
  { to: '/clients', label: 'Clients & onboarding' },
  { to: '/tokens', label: 'Tokens' },
  { to: '/events', label: 'Events' },
];

export function App() {
  const { session, signOut } = useAuth();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  if (!session) return <SignIn />;
  const active = (to: string) => (to === '/' ? location.pathname === '/' : location.pathname.startsWith(to));
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Title order={1} size="h4">
              margo-wfm
            </Title>
          </Group>
          <Group gap="sm">
            <Text size="sm" data-testid="signed-in-as">
              {session.me.name}
            </Text>
            <Badge data-testid="role" variant="light">
              {session.me.role}
            </Badge>
            <Button size="xs" variant="default" onClick={signOut}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        {NAV.map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={item.label}
            active={active(item.to)}
            variant="light"
            aria-current={active(item.to) ? 'page' : undefined}
            onClick={close}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<Loader aria-label="Loading" />}>
          <Routes>
            <Route path="/" element={<Overview />} />
            <Route path="/devices" element={<Devices />} />
            <Route path="/devices/:clientId/:deviceId" element={<DeviceDetail />} />
            <Route path="/packages" element={<Packages />} />
            <Route path="/deployments" element={<Deployments />} />
            <Route path="/deployments/new" element={<DeploymentCreate />} />
            <Route path="/deployments/:id" element={<DeploymentDetail />} />
            <Route path="/clients" element={<Clients />} />
            <Route path="/tokens" element={<Tokens />} />
            <Route path="/events" element={<Events />} />
            <Route path="*" element={<Navigate to="/" replace />} />
          </Routes>
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
