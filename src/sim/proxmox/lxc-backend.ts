/**
 * What the Proxmox simulator does when an LXC is created/started/stopped/destroyed.
 * The default backend only keeps state (the container gets a made-up address the test
 * or demo chooses). The e2e tier plugs in a backend that boots a real Debian container
 * with systemd (lxc + debootstrap), so `POST /nodes/{node}/lxc` really creates one and
 * `/interfaces` reports its real IP.
 */
export interface SimLxcCreate {
  node: string;
  vmid: number;
  hostname: string;
  /** Content of the `ssh-public-keys` parameter (one or more OpenSSH public keys). */
  sshPublicKeys: string;
  /** Raw net0 parameter, e.g. `name=eth0,bridge=vmbr0,ip=dhcp`. */
  net0: string;
  memory: number;
  cores: number;
}

export interface SimLxcBackend {
  /** Called while the create task runs; a throw fails the task with that message. */
  create(request: SimLxcCreate): Promise<void>;
  /** Returns the container's IPv4 once it is up (reported by /interfaces). */
  start(vmid: number): Promise<{ ipv4: string | undefined }>;
  stop(vmid: number): Promise<void>;
  destroy(vmid: number): Promise<void>;
}
