// The GitHub client lives in @alloy-sysext/github (one door for every GitHub call); ghost-stack's modules reach it here.
export * from '@alloy-sysext/github';
