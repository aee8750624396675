import {
  createTheme,
  type CSSVariablesResolver,
  defaultVariantColorsResolver,
  parseThemeColor,
  type VariantColorsResolver,
} from '@mantine/core';

/** Shade 9 of a theme color, 30 % darker: at least 5:1 against white and its own light tint. */
const deep = (color: string) => `color-mix(in srgb, var(--mantine-color-${color}-9), black 30%)`;
/** Colors whose filled shades are too light for white text (below 4.5:1 even at shade 9). */
const PALE = new Set(['green', 'yellow', 'orange', 'lime', 'teal', 'cyan']);

/**
 * WCAG AA contrast for Mantine's variants (axe's color-contrast rule in the browser tests): the light,
 * outline and subtle variants (badges, alerts, the active nav link, light buttons) put text in shade 6
 * by default, and filled green, yellow or orange buttons put white text on a pale background.
 */
const variantColorResolver: VariantColorsResolver = (input) => {
  const colors = defaultVariantColorsResolver(input);
  const parsed = parseThemeColor({ color: input.color ?? input.theme.primaryColor, theme: input.theme });
  if (!parsed.isThemeColor || parsed.color === 'dark') return colors;
  if (input.variant === 'filled' && PALE.has(parsed.color)) {
    return {
      ...colors,
      background: deep(parsed.color),
      hover: `color-mix(in srgb, ${deep(parsed.color)}, black 15%)`,
    };
  }
  if (!['light', 'outline', 'subtle'].includes(input.variant)) return colors;
  const text = deep(parsed.color);
  return {
    ...colors,
    color: text,
    hoverColor: text,
    ...(input.variant === 'outline' ? { border: `1px solid ${text}` } : {}),
  };
};

export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  defaultRadius: 'sm',
  variantColorResolver,
});

/** Dimmed text one shade darker than Mantine's (gray 6 on white is below 4.5:1); the primary light text deeper. */
export const cssVariables: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-primary-color-light-color': deep('indigo'),
  },
  dark: {},
});
