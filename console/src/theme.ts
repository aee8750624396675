import { createTheme } from '@mantine/core';

// Darker shades than Mantine's defaults for text on light backgrounds: WCAG AA contrast (axe).
export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  defaultRadius: 'sm',
});
